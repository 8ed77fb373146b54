// Preloaded into a daemon by test/integration/idle-footprint.test.ts (NODE_OPTIONS=--require):
// records every call that loads ICU locale data (localeCompare, Intl, toLocale*, normalize) with
// where it came from, and on exit writes those and the Node built-in modules the process loaded
// to FEDMESH_TRIPWIRE_OUT. It only observes: every wrapped function still does its job.
'use strict'
const { writeFileSync } = require('node:fs')

const out = process.env.FEDMESH_TRIPWIRE_OUT
const calls = []
function note (what) {
  if (calls.length < 100) calls.push({ what, at: (new Error().stack ?? '').split('\n').slice(3, 6).map(l => l.trim()) })
}
function watchMethod (proto, name, label) {
  const original = proto[name]
  Object.defineProperty(proto, name, {
    configurable: true,
    writable: true,
    value: function (...args) { note(label); return original.apply(this, args) }
  })
}
watchMethod(String.prototype, 'localeCompare', 'String.prototype.localeCompare')
watchMethod(String.prototype, 'normalize', 'String.prototype.normalize')
watchMethod(String.prototype, 'toLocaleLowerCase', 'String.prototype.toLocaleLowerCase')
watchMethod(String.prototype, 'toLocaleUpperCase', 'String.prototype.toLocaleUpperCase')
watchMethod(Number.prototype, 'toLocaleString', 'Number.prototype.toLocaleString')
watchMethod(BigInt.prototype, 'toLocaleString', 'BigInt.prototype.toLocaleString')
watchMethod(Array.prototype, 'toLocaleString', 'Array.prototype.toLocaleString')
for (const name of ['toLocaleString', 'toLocaleDateString', 'toLocaleTimeString']) watchMethod(Date.prototype, name, `Date.prototype.${name}`)
for (const name of Object.getOwnPropertyNames(Intl)) {
  const target = Intl[name]
  if (typeof target !== 'function') continue
  Intl[name] = new Proxy(target, {
    construct (t, args, newTarget) { note(`new Intl.${name}`); return Reflect.construct(t, args, newTarget) },
    apply (t, self, args) { note(`Intl.${name}()`); return Reflect.apply(t, self, args) }
  })
}

if (out != null) {
  process.on('exit', () => {
    const modules = process.moduleLoadList.filter(m => m.startsWith('NativeModule ')).map(m => m.slice('NativeModule '.length))
    writeFileSync(out, JSON.stringify({ pid: process.pid, calls, modules }))
  })
}
