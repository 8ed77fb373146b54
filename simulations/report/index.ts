/** Writes report.json and report.html for one or more runs (model, real-stack, or both). */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { renderHtml } from './html.js'
import { buildReport, toJson } from './json.js'
import type { ReportDocument } from './json.js'
import type { RunResult } from './types.js'

export { buildReport, toJson } from './json.js'
export { renderTerminal } from './table.js'
export { evaluateGoals } from './goals.js'
export type { ReportDocument } from './json.js'
export type * from './types.js'

export interface WrittenReport {
  doc: ReportDocument
  jsonPath: string
  htmlPath: string
}

export async function writeReport (runs: RunResult[], outDir: string): Promise<WrittenReport> {
  if (runs.length === 0) throw new Error('no run to report')
  const doc = buildReport(runs)
  await mkdir(outDir, { recursive: true })
  const jsonPath = join(outDir, 'report.json')
  const htmlPath = join(outDir, 'report.html')
  await writeFile(jsonPath, toJson(doc) + '\n')
  await writeFile(htmlPath, renderHtml(runs, doc))
  return { doc, jsonPath, htmlPath }
}
