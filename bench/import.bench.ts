/**
 * Batch import: a generated CSV of events streamed through the `kindred import` CLI path (child
 * process, embedded store, file event log), at two sizes, reporting rows/s and peak RSS (memory
 * must stay flat: the big file's peak close to the small one's). Baseline, same run: parsing the
 * same file with csv-parse alone.
 * `node --import tsx bench/import.bench.ts` (BENCH_IMPORT_ROWS, default 1,000,000)
 * → bench/results/import.{json,md}, then docs/benchmarks.md.
 */
import { spawn } from 'node:child_process'
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir, loadavg } from 'node:os'
import path from 'node:path'
import { once } from 'node:events'
import { parse } from 'csv-parse'
import { machine, repoRoot, writeResult } from './support.js'
import { renderBenchmarks } from './render.js'
import { openStore } from '../src/platform/store/open-store.js'
import { bootstrap } from '../src/app/bootstrap.js'
import { sourcesRepository } from '../src/platform/store/repositories/sources-repository.js'

const bigRows = Number(process.env.BENCH_IMPORT_ROWS ?? 1_000_000)
const smallRows = Math.max(1000, Math.round(bigRows / 10))

async function writeCsv(file: string, rows: number): Promise<number> {
  const out = createWriteStream(file)
  out.write('order_id,customer,amount,currency,placed_at,channel\n')
  let chunk = ''
  for (let i = 1; i <= rows; i++) {
    const day = String((i % 28) + 1).padStart(2, '0')
    chunk += `o${i},c${i % 50_000},${(i % 900) + 0.99},EUR,2025-06-${day}T12:00:00Z,${i % 3 ? 'web' : 'store'}\n`
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain')
      chunk = ''
    }
  }
  out.end(chunk)
  await once(out, 'finish')
  return rows
}

async function parseOnly(file: string): Promise<{ rows: number; seconds: number }> {
  const t0 = performance.now()
  let rows = 0
  for await (const _ of createReadStream(file).pipe(
    parse({ bom: true, relax_column_count: true }),
  )) {
    rows++
  }
  return { rows: rows - 1, seconds: (performance.now() - t0) / 1000 }
}

function rssKb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

interface CliRun {
  rows: number
  seconds: number
  rowsPerSec: number
  peakRssMiB: number
  /** RSS sampled every 250 ms (MiB): flat means no growth with rows read. */
  rssSamplesMiB: number[]
}

async function importWithCli(dataDir: string, file: string, rows: number): Promise<CliRun> {
  const t0 = performance.now()
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'bin/kindred.js'),
      'import',
      '--source',
      'src_bench',
      '--kind',
      'events',
      '--data-dir',
      dataDir,
      '--event',
      'Order Completed',
      '--map',
      'customer=userId',
      '--map',
      'amount=properties.amount:number',
      '--map',
      'placed_at=timestamp:date',
      file,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const samples: number[] = []
  const timer = setInterval(() => {
    const kb = child.pid === undefined ? undefined : rssKb(child.pid)
    if (kb !== undefined) samples.push(Math.round(kb / 102.4) / 10)
  }, 250)
  const [code] = (await once(child, 'exit')) as [number | null]
  clearInterval(timer)
  if (code !== 0) throw new Error(`import failed (${code}): ${out}`)
  const seconds = (performance.now() - t0) / 1000
  const m = /in ([\d.]+) s \((\d+) rows\/s\)/.exec(out)
  if (!m || !out.includes(`${rows} rows read, ${rows} accepted`)) {
    throw new Error(`unexpected CLI output: ${out}`)
  }
  return {
    rows,
    seconds,
    rowsPerSec: Number(m[2]),
    peakRssMiB: Math.max(...samples),
    rssSamplesMiB: samples,
  }
}

async function freshDataDir(root: string, name: string): Promise<string> {
  const dataDir = path.join(root, name)
  const store = await openStore({ dataDir })
  await bootstrap(store.db, 'bench-admin-token-0123456789')
  await sourcesRepository.insert(store.db, {
    id: 'src_bench',
    workspaceId: 'default',
    name: 'bench import',
    writeKeyHash: 'b'.repeat(64),
    writeKeyPrefix: 'wk_b',
    settings: {},
  })
  await store.close()
  return dataDir
}

async function main() {
  const root = mkdtempSync(path.join(tmpdir(), 'kindred-import-bench-'))
  const loadBefore = loadavg()
  try {
    const smallFile = path.join(root, 'small.csv')
    const bigFile = path.join(root, 'big.csv')
    await writeCsv(smallFile, smallRows)
    await writeCsv(bigFile, bigRows)
    const baseline = await parseOnly(bigFile)
    const small = await importWithCli(await freshDataDir(root, 'small'), smallFile, smallRows)
    const big = await importWithCli(await freshDataDir(root, 'big'), bigFile, bigRows)
    const loadAfter = loadavg()
    const results = {
      machine: machine(),
      loadavg: { before: loadBefore, after: loadAfter },
      baselineParseRowsPerSec: baseline.rows / baseline.seconds,
      small: { ...small, rssSamplesMiB: undefined },
      big: { ...big, rssSamplesMiB: undefined },
      bigRssSamplesMiB: big.rssSamplesMiB.filter((_, i) => i % 20 === 0),
    }
    const n = (x: number) => Math.round(x).toLocaleString('en-US')
    const md = `## Import: CSV through \`kindred import\` (streaming, flat memory)

A generated CSV of order events (6 columns; customer → userId, amount → number, placed_at →
date, the rest → properties) imported by the CLI in a child process into the embedded store: each
row coerced, validated like a live event, given a deterministic messageId and appended to the file
event log in 500-row batches with a checkpoint after each (processing happens later, in the
server). Machine: ${results.machine.cpuModel}, ${results.machine.cores} cores, Node
${results.machine.node}, ${results.machine.date}. Shared machine: load average ${loadBefore
      .map((l) => l.toFixed(1))
      .join(' / ')} at the start, ${loadAfter.map((l) => l.toFixed(1)).join(' / ')} at the end.

| file | rows | import time | rows/s | peak RSS |
|---|---:|---:|---:|---:|
| small | ${n(small.rows)} | ${small.seconds.toFixed(1)} s | ${n(small.rowsPerSec)} | ${small.peakRssMiB} MiB |
| **big** | ${n(big.rows)} | ${big.seconds.toFixed(1)} s | **${n(big.rowsPerSec)}** | **${big.peakRssMiB} MiB** |

Baseline (same run, same big file): csv-parse alone reads ${n(results.baselineParseRowsPerSec)}
rows/s, so the import runs at ${((big.rowsPerSec / results.baselineParseRowsPerSec) * 100).toFixed(0)}% of the parse ceiling.
Memory: ${n(big.rows / small.rows)}× the rows, peak RSS ${(big.peakRssMiB / small.peakRssMiB).toFixed(2)}× (RSS over the big run, MiB,
every 5 s: ${results.bigRssSamplesMiB.join(', ')}).
`
    writeResult('import', results, md)
    renderBenchmarks()
    process.stdout.write(md)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

await main()
