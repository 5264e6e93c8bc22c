import type { Readable } from 'node:stream';

/**
 * Collects a Node stream into one Buffer, failing with `tooLarge()` as soon as more than `limit` bytes arrived.
 * Plain events rather than `for await`: it runs on every request and every non-streamed answer. Over the limit the
 * stream is destroyed (`destroy`) or only paused, so the caller can still answer on the same connection.
 */
export function collectBody(body: Readable, limit: number, tooLarge: () => Error, overLimit: 'destroy' | 'pause'): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > limit) {
        done();
        if (overLimit === 'destroy') body.destroy();
        else body.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(buffer);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: unknown) => {
      done();
      reject(error);
    };
    const onClose = () => {
      done();
      reject(Object.assign(new Error('The stream closed before its end.'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}
