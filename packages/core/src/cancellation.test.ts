import { describe, expect, it } from 'vitest';
import { createCancellation, onCancel } from './cancellation.js';

describe('createCancellation and onCancel', () => {
  it('calls a watcher once when the cancellation aborts, after the signal has aborted with the reason', () => {
    const cancellation = createCancellation();
    const seen: unknown[] = [];
    onCancel(cancellation.signal, () => seen.push(cancellation.signal.reason));
    const reason = new Error('gone');
    cancellation.abort(reason);
    cancellation.abort(new Error('again'));
    expect(seen).toEqual([reason]);
    expect(cancellation.signal.aborted).toBe(true);
  });

  it('still runs the signal’s own listeners, so fetch and AbortSignal.any see it', () => {
    const cancellation = createCancellation();
    const any = AbortSignal.any([cancellation.signal]);
    let heard = 0;
    cancellation.signal.addEventListener('abort', () => heard++);
    cancellation.abort(new Error('gone'));
    expect(heard).toBe(1);
    expect(any.aborted).toBe(true);
  });

  it('stops watching when told to', () => {
    const cancellation = createCancellation();
    let calls = 0;
    const stop = onCancel(cancellation.signal, () => calls++);
    stop();
    cancellation.abort();
    expect(calls).toBe(0);
  });

  it('calls at once for a signal that already aborted', () => {
    const cancellation = createCancellation();
    cancellation.abort();
    let calls = 0;
    onCancel(cancellation.signal, () => calls++);
    onCancel(AbortSignal.abort(), () => calls++);
    expect(calls).toBe(2);
  });

  it('watches any other AbortSignal through an ordinary listener, and removes it', () => {
    const controller = new AbortController();
    let calls = 0;
    const stop = onCancel(controller.signal, () => calls++);
    const other = new AbortController();
    const stopOther = onCancel(other.signal, () => calls++);
    stopOther();
    controller.abort();
    other.abort();
    expect(calls).toBe(1);
    stop();
  });
});
