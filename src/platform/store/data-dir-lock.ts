import {
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  writeSync,
  unlinkSync,
  rmSync,
  existsSync,
} from 'node:fs'
import path from 'node:path'
import { KindredError } from '../../protocol/errors.js'

/**
 * Kindred owns its data dir. PGlite leaves `postmaster.pid` behind after a crash and then hangs
 * forever on reopen (measured, see ARCHITECTURE.md), and two processes on one dir would corrupt
 * it. So: an exclusive lock file of our own holding our pid; a dead owner's lock and PGlite's stale
 * `postmaster.pid` are removed before opening.
 */
export interface DataDirLock {
  release(): void
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function lockDataDir(dataDir: string, pgliteDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true })
  const lockPath = path.join(dataDir, 'kindred.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      const stalePid = path.join(pgliteDir, 'postmaster.pid')
      if (existsSync(stalePid)) rmSync(stalePid)
      let released = false
      return {
        release() {
          if (released) return
          released = true
          try {
            if (readFileSync(lockPath, 'utf8') === String(process.pid)) unlinkSync(lockPath)
          } catch {
            // already gone: nothing to release
          }
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const owner = Number(readFileSync(lockPath, 'utf8').trim())
      if (alive(owner) && owner !== process.pid) {
        throw new KindredError(
          'DATA_DIR_LOCKED',
          `data dir ${dataDir} is in use by process ${owner}; stop it or use another --data-dir`,
        )
      }
      unlinkSync(lockPath)
    }
  }
  throw new KindredError('DATA_DIR_LOCKED', `could not lock data dir ${dataDir}`)
}
