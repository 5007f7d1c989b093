export function sentenceForApiError(status: number, body: unknown, what: string): string;
export function detailOf(body: unknown): string;
