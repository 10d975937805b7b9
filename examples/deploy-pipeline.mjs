// A deploy pipeline in phases: build → test (unit and integration side by side) → deploy.
// A step in a phase waits for every step of the phases it depends on.
// Run: npm run build && node examples/deploy-pipeline.mjs
import { createConveyor } from 'conveyor';

const cv = await createConveyor({ database: process.env.CONVEYOR_DATABASE_URL ?? ':memory:' });
const log = [];

const worker = cv.worker({
  concurrency: 4,
  handlers: {
    build_application: async ({ version }) => {
      log.push('build');
      return { artifact: `app-${version}.tgz` };
    },
    run_tests: async ({ suite, artifact }) => {
      log.push(`test:${suite}`);
      return { suite, artifact, passed: true };
    },
    deploy: async ({ artifact, env }, ctx) => {
      await ctx.progress(50, `uploading ${artifact}`);
      log.push(`deploy:${env}`);
      return { env, url: `https://${env}.example.test/${artifact}` };
    },
  },
});
await worker.start();

const pipeline = cv
  .workflow('deploy')
  .phase('build')
  .phase('test', { dependsOn: ['build'] })
  .phase('release', { dependsOn: ['test'] })
  .step('build', 'build_application', { phase: 'build', input: { version: '{{input.version}}' } })
  .step('unit', 'run_tests', { phase: 'test', input: { suite: 'unit' } })
  .step('integration', 'run_tests', { phase: 'test', input: { suite: 'integration' } })
  .connect('build', 'artifact', 'unit', 'artifact')
  .connect('build', 'artifact', 'integration', 'artifact')
  .step('deploy', 'deploy', { phase: 'release', input: { env: 'staging' } })
  .connect('build', 'artifact', 'deploy', 'artifact')
  .build();

const run = await cv.startWorkflow(pipeline, { version: '1.4.2' });
const result = await cv.waitForWorkflow(run.id);
console.log(result.status, result.results.deploy.url);
console.log('order:', log[0], '→', log.slice(1, 3).sort().join(' + '), '→', log[3]);
await cv.close();
