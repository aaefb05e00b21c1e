// A Vitest reporter for `run-vitest.mjs`: one JSON line per file started, test finished and file
// finished, appended to TEST_PROGRESS_FILE, so the runner can tell a run that stopped moving.
import { appendFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

const progressFile = process.env.TEST_PROGRESS_FILE;

function note(entry: { event: 'start' | 'test' | 'end'; file?: string; state?: string }): void {
  if (progressFile) appendFileSync(progressFile, `${JSON.stringify(entry)}\n`);
}

export default class TestProgressReporter implements Reporter {
  onTestModuleStart(module: TestModule): void {
    note({ event: 'start', file: module.moduleId });
  }

  onTestCaseResult(): void {
    note({ event: 'test' });
  }

  onTestModuleEnd(module: TestModule): void {
    note({ event: 'end', file: module.moduleId, state: module.state() });
  }
}
