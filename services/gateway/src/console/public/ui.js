import { useEffect, useState } from "./hooks.mjs";
import htm from "./htm.mjs";
import { h } from "./preact.mjs";

/** JSX-like templates without a build step: `html\`<p>${text}</p>\``. */
export const html = htm.bind(h);

/**
 * Runs `load` when `deps` change and keeps its answer: `{ data, error, loading, reload }`.
 * `error` is the sentence of an `ApiError` (or any failure's message).
 * @template T
 * @param {() => Promise<T>} load
 * @param {unknown[]} deps
 */
export function useLoad(load, deps) {
  const [state, setState] = useState(
    /** @type {{ data: T | null, error: string | null, loading: boolean }} */ ({
      data: null,
      error: null,
      loading: true,
    }),
  );
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => current && setState({ data, error: null, loading: false }),
      (error) =>
        current &&
        setState({
          data: null,
          error: error instanceof Error ? error.message : String(error),
          loading: false,
        }),
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  return { ...state, reload: () => setRound((n) => n + 1) };
}

/** An error sentence, announced to screen readers. @param {{ text: string | null }} props */
export function ErrorMessage({ text }) {
  return text ? html`<p class="error" role="alert">${text}</p>` : null;
}

/** @param {{ label?: string }} props */
export function Loading({ label = "Loading…" }) {
  return html`<p class="muted" role="status">${label}</p>`;
}

/** A date as the reader's locale shows it, with the exact ISO time on hover. @param {{ at: string | null | undefined }} props */
export function When({ at }) {
  if (!at) return html`<span class="muted">never</span>`;
  const date = new Date(at);
  return html`<time datetime=${at} title=${at}>${date.toLocaleString()}</time>`;
}

/** A list of values as text, or a dash. @param {unknown} value */
export function textOf(value) {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return value.length ? value.join(", ") : "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
