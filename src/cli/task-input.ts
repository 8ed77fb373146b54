import { open } from 'node:fs/promises'
import { UsageError } from './errors.js'

/** The most a file or stdin may give a task; the daemon's own limit (1 MiB by default) is usually lower. */
export const MAX_INPUT_READ_BYTES = 64 * 1024 * 1024

/** What `run` sends: `input` (JSON) or `inputBase64` (raw bytes from a file or stdin). */
export type TaskInputBody = { input: unknown } | { inputBase64: string }

/**
 * `--input JSON`, `--input -` (stdin) or `--input-file F`. JSON given on the command line is
 * parsed here (a typo is a usage error); bytes from a file or stdin go as they are, so a command
 * kind gets exactly the file, and a JSON kind parses the file's text itself.
 */
export async function readTaskInput (opts: { input?: string, inputFile?: string }, stdin: NodeJS.ReadableStream = process.stdin): Promise<TaskInputBody> {
  if (opts.input != null && opts.inputFile != null) throw new UsageError('give --input or --input-file, not both')
  if (opts.inputFile != null) return { inputBase64: (await readFileBounded(opts.inputFile)).toString('base64') }
  if (opts.input === '-') return { inputBase64: (await readBounded(stdin, 'stdin')).toString('base64') }
  if (opts.input == null) return { input: null }
  try {
    return { input: JSON.parse(opts.input) }
  } catch {
    throw new UsageError(`--input is not valid JSON: ${opts.input} (a string needs quotes: --input '"text"'; raw bytes: --input-file F or --input -)`)
  }
}

async function readFileBounded (path: string): Promise<Buffer> {
  let file
  try {
    file = await open(path, 'r')
  } catch (err: any) {
    throw new UsageError(`--input-file ${path}: ${err?.code === 'ENOENT' ? 'no such file' : err?.message ?? String(err)}`)
  }
  try {
    return await readBounded(file.createReadStream(), path)
  } finally {
    await file.close().catch(() => {})
  }
}

async function readBounded (stream: NodeJS.ReadableStream, what: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    total += buf.byteLength
    if (total > MAX_INPUT_READ_BYTES) throw new UsageError(`${what} is larger than ${MAX_INPUT_READ_BYTES} bytes: too large for a task input`)
    chunks.push(buf)
  }
  return Buffer.concat(chunks)
}
