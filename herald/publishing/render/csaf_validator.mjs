// Runs csaf-validator-lib (BSI/secvisogram) on many CSAF 2.0 documents in one process:
// the JSON schema test and every mandatory test (section 6.1), through validateStrict.
// Usage: node csaf_validator.mjs <directory holding node_modules/@secvisogram/csaf-validator-lib>
// stdin: {"<name>": <document>, ...}; stdout: {"<name>": ["<path>: <test> <message>", ...], ...}
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const lib = join(process.argv[2], 'node_modules', '@secvisogram', 'csaf-validator-lib')
const load = (module) => import(pathToFileURL(join(lib, module)).href)
const validateStrict = (await load('validateStrict.js')).default
const schema = await load('schemaTests.js')
const mandatory = await load('mandatoryTests.js')
const tests = [...Object.values(schema), ...Object.values(mandatory)]

const documents = JSON.parse(readFileSync(0, 'utf8'))
const results = {}
for (const [name, document] of Object.entries(documents)) {
  const result = await validateStrict(tests, document)
  results[name] = result.tests.flatMap((test) =>
    test.errors.map((error) => `${error.instancePath || '/'}: ${test.name} ${error.message}`)
  )
}
process.stdout.write(JSON.stringify(results))
