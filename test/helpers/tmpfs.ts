import { execFile } from 'node:child_process'
import { mkdtemp, open, rm, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * A small tmpfs of its own, to run a store or a daemon on a disk that fills up. Needs root
 * (`mount`); `tmpfsUnavailable()` says why not, for `describe.skipIf`.
 */
export interface SmallDisk {
  dir: string
  /** Fill the disk with a file, leaving about `leaveBytes` free. */
  fill(leaveBytes?: number): Promise<void>
  /** Delete the filler file: space is back. */
  free(): Promise<void>
  freeBytes(): Promise<number>
  unmount(): Promise<void>
}

export function tmpfsUnavailable (): string | undefined {
  if (process.platform !== 'linux') return 'tmpfs mounts need Linux'
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root'
  return undefined
}

export async function mountSmallDisk (sizeBytes: number): Promise<SmallDisk> {
  const dir = await mkdtemp(join(tmpdir(), 'fedmesh-tmpfs-'))
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir])
  const filler = join(dir, 'filler')
  const freeBytes = async (): Promise<number> => {
    const s = await statfs(dir)
    return s.bavail * s.bsize
  }
  return {
    dir,
    freeBytes,
    async fill (leaveBytes = 0) {
      const file = await open(filler, 'a')
      try {
        const chunk = Buffer.alloc(64 * 1024, 1)
        for (let left = await freeBytes() - leaveBytes; left > 0; left -= chunk.length) {
          try {
            await file.write(chunk, 0, Math.min(chunk.length, left))
          } catch (err: any) {
            if (err?.code === 'ENOSPC') break
            throw err
          }
        }
      } finally {
        await file.close()
      }
    },
    async free () {
      await rm(filler, { force: true })
    },
    async unmount () {
      await run('umount', [dir]).catch(async () => { await run('umount', ['-l', dir]) }).catch(() => {})
      await rm(dir, { recursive: true, force: true })
    }
  }
}
