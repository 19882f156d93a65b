// Builds the front-end files that the Rust app serves and its tests use.
// The outputs are committed, so cargo never needs Node:
//   ../static/aqm.css                 GOV.UK Frontend 6 compiled from src/aqm.scss
//   ../static/govuk-frontend.min.js   GOV.UK Frontend's ES module build
//   ../tests/browser/axe.min.js       axe-core, for the browser accessibility tests
// Run: npm ci && npm run build
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as sass from 'sass'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const nodeModules = join(here, 'node_modules')
const require = createRequire(import.meta.url)

const govukVersion = require('govuk-frontend/package.json').version
const axeVersion = require('axe-core/package.json').version

function write (relPath, contents) {
  const out = join(root, relPath)
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, contents)
  console.log(`wrote ${relPath} (${Buffer.byteLength(contents)} bytes)`)
}

// 1. CSS
const { css } = sass.compile(join(here, 'src', 'aqm.scss'), {
  loadPaths: [nodeModules],
  style: 'compressed',
  sourceMap: false,
  quietDeps: true
})

// Guard against GOV.UK-only assets creeping back in.
const forbidden = [/GDS Transport/i, /\.woff2?\b/i, /@font-face/i, /crown/i, /govuk-crest/i, /opengraph/i]
for (const pattern of forbidden) {
  if (pattern.test(css)) {
    throw new Error(`aqm.css must not contain ${pattern}`)
  }
}
for (const [, url] of css.matchAll(/url\(\s*["']?([^"')]+)/g)) {
  if (!url.startsWith('/static/') && !url.startsWith('data:')) {
    throw new Error(`aqm.css references an asset outside /static/: ${url}`)
  }
}

// Compressed Sass output starts with a byte order mark when the CSS has
// non-ASCII characters. A BOM after our banner would break the first rule, so
// drop it and declare the encoding with @charset (which must come first).
const body = css.replace(/^\uFEFF/, '')
if (body.includes('\uFEFF')) throw new Error('unexpected byte order mark in aqm.css')
write('static/aqm.css',
  `@charset "UTF-8";\n/*! Attendance Quality Mark. Built on GOV.UK Frontend v${govukVersion} (MIT licence). */\n${body}\n`)

// 2. GOV.UK Frontend JavaScript (ES module). Drop the source map comment: we do
// not ship the map.
const js = readFileSync(join(nodeModules, 'govuk-frontend/dist/govuk/govuk-frontend.min.js'), 'utf8')
  .replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, '\n')
write('static/govuk-frontend.min.js', js)

// 3. axe-core for the browser tests.
const axe = readFileSync(join(nodeModules, 'axe-core/axe.min.js'), 'utf8')
write('tests/browser/axe.min.js', axe)

console.log(`govuk-frontend ${govukVersion}, axe-core ${axeVersion}`)
