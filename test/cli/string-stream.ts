/** A non-TTY writable stream that collects what is written, for CLI output tests. */
import { Writable } from 'node:stream';

export type StringStream = Writable & { text: () => string };

export function stringStream(): StringStream {
  const chunks: string[] = [];
  const s = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  }) as StringStream;
  s.text = () => chunks.join('');
  return s;
}
