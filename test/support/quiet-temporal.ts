// Keep the Temporal SDK's worker logs at WARN in tests (INFO lines drown the test output).
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Already installed in this process.
}
