import { Readable } from 'node:stream'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { matchPeer } from '../../../src/cli/peer-arg.js'
import { apiBaseUrl } from '../../../src/cli/client.js'
import { readTaskInput } from '../../../src/cli/task-input.js'
import { EXIT, NotFoundCliError, UsageError, exitCodeOfStatus } from '../../../src/cli/errors.js'

const A = '12D3KooWBXr6aD5qzPE97i6au373jXqjSyJmb5jKmb6FYFRkdTfr'
const B = '12D3KooWL8oFJ1fpmHajesK5YqQxziQE6PaTio4uxusiqLZu9Mkq'
const C = '12D3KooWL8oFzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz9Mkq'
const choices = [
  { peerId: A, name: 'alpha', self: true },
  { peerId: B, name: 'bravo', self: false },
  { peerId: C, name: 'bravo-2', self: false }
]

describe('--peer', () => {
  it('takes a whole id, a name, the short form tables print, or a unique start or end of an id', () => {
    expect(matchPeer(B, choices).peerId).toBe(B)
    expect(matchPeer('alpha', choices)).toMatchObject({ peerId: A, self: true })
    expect(matchPeer('bravo', choices).peerId).toBe(B) // an exact name before a name's start
    expect(matchPeer('12D3Ko…RkdTfr', choices).peerId).toBe(A)
    expect(matchPeer('12D3Ko...RkdTfr', choices).peerId).toBe(A)
    expect(matchPeer('12D3KooWBX', choices).peerId).toBe(A)
    expect(matchPeer('qLZu9Mkq', choices).peerId).toBe(B)
    expect(matchPeer('bravo-', choices).peerId).toBe(C)
  })

  it('an ambiguous part is a usage error naming the candidates; no match is "not found"', () => {
    expect(() => matchPeer('12D3KooWL8oF', choices)).toThrow(UsageError)
    expect(() => matchPeer('12D3KooWL8oF', choices)).toThrow(/matches 2 peers: 12D3Ko…Zu9Mkq \(bravo\), 12D3Ko…zz9Mkq \(bravo-2\)/)
    expect(() => matchPeer('9Mkq', choices)).toThrow(/matches 2 peers/)
    expect(() => matchPeer('nobody', choices)).toThrow(NotFoundCliError)
    expect(() => matchPeer('', choices)).toThrow(UsageError)
  })

  it('passes a well-formed id it does not know to the daemon, which says what it makes of it', () => {
    const unknown = '12D3KooWQx7N4ZyBcHLGAJ5pTqGhhkpVnB3e7vA3ahHSFQ2WSbWm'
    expect(matchPeer(unknown, choices)).toEqual({ peerId: unknown, name: '', self: false })
  })
})

describe('--api', () => {
  it('takes HOST:PORT as the daemon does, or a base URL', () => {
    expect(apiBaseUrl('127.0.0.1:4102')).toBe('http://127.0.0.1:4102')
    expect(apiBaseUrl('localhost:4102')).toBe('http://localhost:4102')
    expect(apiBaseUrl('[::1]:4102')).toBe('http://[::1]:4102')
    expect(apiBaseUrl('http://127.0.0.1:4102/')).toBe('http://127.0.0.1:4102')
  })

  it('refuses anything else as a usage error', () => {
    for (const bad of ['127.0.0.1', 'foo:bar:baz', 'https://127.0.0.1:4102', 'http://127.0.0.1:4102/v1', '']) {
      expect(() => apiBaseUrl(bad), bad).toThrow(UsageError)
    }
  })
})

describe('exit codes', () => {
  it('map HTTP answers: 400 usage, 404 not found, the rest failed', () => {
    expect(exitCodeOfStatus(400)).toBe(EXIT.USAGE)
    expect(exitCodeOfStatus(404)).toBe(EXIT.NOT_FOUND)
    expect(exitCodeOfStatus(503)).toBe(EXIT.FAILED)
    expect(exitCodeOfStatus(401)).toBe(EXIT.FAILED)
    expect([EXIT.FAILED, EXIT.USAGE, EXIT.NO_DAEMON, EXIT.NOT_FOUND]).toEqual([1, 2, 3, 4])
  })
})

describe('task input', () => {
  const dirs: string[] = []
  afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

  it('--input is JSON, parsed here; a typo is a usage error', async () => {
    expect(await readTaskInput({ input: '{"ms": 5}' })).toEqual({ input: { ms: 5 } })
    expect(await readTaskInput({})).toEqual({ input: null })
    await expect(readTaskInput({ input: '{ms: 5}' })).rejects.toThrow(UsageError)
  })

  it('--input-file and --input - send the bytes as they are', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedmesh-input-'))
    dirs.push(dir)
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10])
    await writeFile(join(dir, 'in.bin'), bytes)
    expect(await readTaskInput({ inputFile: join(dir, 'in.bin') })).toEqual({ inputBase64: bytes.toString('base64') })
    expect(await readTaskInput({ input: '-' }, Readable.from([bytes.subarray(0, 3), bytes.subarray(3)]))).toEqual({ inputBase64: bytes.toString('base64') })
    await expect(readTaskInput({ inputFile: join(dir, 'missing') })).rejects.toThrow(/no such file/)
    await expect(readTaskInput({ input: '{}', inputFile: join(dir, 'in.bin') })).rejects.toThrow(/not both/)
  })
})
