export const EXPECTATION_FLAGS: Record<string, string>;
export function expectationsOf(form: Record<string, string>): Record<string, string | string[]>;
export function shellQuote(word: string): string;
export function verifyCommand(
  projectPath: string,
  agentName: string,
  expectations: Record<string, string | string[]>,
): string;
