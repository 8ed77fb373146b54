import { randomBytes, createHash, timingSafeEqual } from 'node:crypto'
import { chmod, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * The two files by which the CLI finds the daemon: `api` (base URL, one line) and `api.token`
 * (bearer token, mode 0600). `api` is written last, so its presence means "ready".
 */
export const API_FILE = 'api'
export const TOKEN_FILE = 'api.token'

/** 256 random bits, URL-safe. */
export function newToken (): string {
  return randomBytes(32).toString('base64url')
}

/** Constant-time comparison that does not leak the length either (both sides are hashed first). */
export function tokensEqual (given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b) && given.length === expected.length
}

export async function writeApiFiles (dataDir: string, url: string, token: string): Promise<void> {
  const tokenPath = join(dataDir, TOKEN_FILE)
  await writeFile(tokenPath, token + '\n', { mode: 0o600 })
  await chmod(tokenPath, 0o600) // mode is ignored when the file already existed
  await writeFile(join(dataDir, API_FILE), url + '\n', { mode: 0o644 })
}

export async function removeApiFiles (dataDir: string): Promise<void> {
  await rm(join(dataDir, API_FILE), { force: true })
  await rm(join(dataDir, TOKEN_FILE), { force: true })
}

export interface ApiEndpoint { url: string, token: string }

/** Read what a running daemon wrote; undefined when no daemon has written them. */
export async function readApiFiles (dataDir: string): Promise<ApiEndpoint | undefined> {
  try {
    const url = (await readFile(join(dataDir, API_FILE), 'utf8')).trim()
    const token = (await readFile(join(dataDir, TOKEN_FILE), 'utf8')).trim()
    return { url, token }
  } catch (err: any) {
    if (err.code === 'ENOENT') return undefined
    throw err
  }
}
