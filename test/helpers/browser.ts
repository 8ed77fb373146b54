/**
 * A real headless browser for tests: Debian's chromium driven by puppeteer-core (no browser
 * download; `.ci/run` installs the package). Each launch gets a fresh profile, removed on close.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import puppeteer from 'puppeteer-core'
import type { Browser } from 'puppeteer-core'

export const CHROMIUM = '/usr/bin/chromium'

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** Why a browser test cannot run here, or undefined when it can. */
export function chromiumUnavailable (): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`
}

export interface TestBrowser {
  browser: Browser
  close: () => Promise<void>
}

export async function launchBrowser (): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'fedmesh-chromium-'))
  const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: [...FLAGS, `--user-data-dir=${profile}`] })
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => {})
      await rm(profile, { recursive: true, force: true })
    }
  }
}
