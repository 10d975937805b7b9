/**
 * Leak check after each test file: every Conveyor a test opened must be closed, or its
 * workers, timers and database handles would keep running into the next test
 * (graphile-worker's `_allWorkerPools` check).
 */
import { afterAll } from 'vitest';
import { openConveyors } from './conveyors.js';

afterAll(() => {
  const open = openConveyors();
  if (open.length > 0) {
    throw new Error(
      `${open.length} Conveyor(s) left open by this test file: close them in afterEach/afterAll`,
    );
  }
});
