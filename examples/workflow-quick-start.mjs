import { createConveyor } from 'conveyor';

const cv = await createConveyor({ database: ':memory:' });
await cv
  .worker({
    handlers: {
      build_application: async ({ version }) => ({ artifact: `app-${version}.tgz` }),
      run_tests: async ({ artifact }) => ({ artifact, passed: true }),
    },
  })
  .start();

const deploy = cv
  .workflow('deploy')
  .step('build', 'build_application', { input: { version: '{{input.version}}' } })
  .step('test', 'run_tests', {
    input: { artifact: '{{steps.build.output.artifact}}' },
    retry: { maxRetries: 2 },
  })
  .build(); // plain JSON: { name: 'deploy', steps: [ … ] }

const run = await cv.startWorkflow(deploy, { version: '1.4.2' }); // → { id, status: 'running' }
const result = await cv.waitForWorkflow(run.id);
console.log(result.status, result.results); // completed { build: { artifact: 'app-1.4.2.tgz' }, test: { … } }
await cv.close();
