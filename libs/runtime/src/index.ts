export { type PeriodicTask, startPeriodicTask } from "./periodic-task.ts";
export {
  EXIT_CODES,
  type ExitCode,
  runService,
  type ServiceProgram,
  type StopHandle,
  UsageError,
} from "./run-service.ts";
