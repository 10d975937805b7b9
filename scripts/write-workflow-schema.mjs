// Writes docs/workflow-definition.schema.json, the JSON Schema of a workflow definition,
// from the built dist/ (`npm run schema:workflow` builds first). A test in
// src/workflow/definition.test.ts fails while the committed file is out of date.
import { writeFileSync } from 'node:fs';
import { workflowJsonSchema } from '../dist/index.js';

const file = new URL('../docs/workflow-definition.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(workflowJsonSchema(), null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
