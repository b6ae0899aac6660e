import { Readable } from 'stream';

/**
 * Splits a child process's output streams into whole lines (a chunk may end mid-line), passes each to
 * `onLine`, and keeps the last `keep` lines for error messages.
 */
export function collectLines(streams: (Readable | null | undefined)[], onLine?: (line: string) => void, keep = 40): string[] {
  const tail: string[] = [];
  const emit = (line: string) => {
    if (line === '') return;
    tail.push(line);
    if (tail.length > keep) tail.shift();
    onLine?.(line);
  };
  for (const stream of streams) {
    if (!stream) continue;
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(emit);
    });
    stream.on('end', () => emit(partial));
  }
  return tail;
}
