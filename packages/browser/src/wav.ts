/**
 * A mono 16-bit PCM WAV file: what Chromium's `--use-file-for-fake-audio-capture` plays, looped,
 * as the fake microphone.
 */
export function wavFile(samples: Int16Array, sampleRate: number): Buffer {
  const data = samples.length * 2;
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(36 + data, 4);
  header.write("WAVE", 8, "ascii");
  header.write("fmt ", 12, "ascii");
  header.writeUInt32LE(16, 16); // PCM format chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // bytes per second
  header.writeUInt16LE(2, 32); // bytes per frame
  header.writeUInt16LE(16, 34); // bits per sample
  header.write("data", 36, "ascii");
  header.writeUInt32LE(data, 40);
  const body = Buffer.alloc(data);
  for (let i = 0; i < samples.length; i++) body.writeInt16LE(samples[i] ?? 0, 2 * i);
  return Buffer.concat([header, body]);
}
