import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRedisServer, startTestRedis, type TestRedis } from './redis-server.js';

// CI installs redis-server and must run this; elsewhere a machine without it skips.
const skip = !findRedisServer() && !process.env.CI;

function command(port: number, line: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer'));
    }, timeoutMs);
    socket.once('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.endsWith('\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        resolve(answer);
      }
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

describe.skipIf(skip)('startTestRedis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('answers on loopback with persistence off', async () => {
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await command(redis.port, 'CONFIG GET save')).toContain('\r\nsave\r\n$0\r\n');
    expect(await command(redis.port, 'CONFIG GET appendonly')).toContain('no');
  });

  it('stops, and starts again empty on the same port', async () => {
    expect(await command(redis.port, 'SET k v')).toBe('+OK\r\n');
    await redis.stop();
    expect(redis.running).toBe(false);
    await expect(command(redis.port, 'PING')).rejects.toThrow();
    await redis.start();
    expect(await command(redis.port, 'GET k')).toBe('$-1\r\n');
  });

  it('pauses without closing connections, and resumes', async () => {
    redis.pause();
    await expect(command(redis.port, 'PING', 300)).rejects.toThrow('no answer');
    redis.resume();
    expect(await command(redis.port, 'PING')).toBe('+PONG\r\n');
  });
});
