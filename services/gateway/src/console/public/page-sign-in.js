import { apiCall } from "./api.js";
import { useState } from "./hooks.mjs";
import { ErrorMessage, html } from "./ui.js";

/** Sign in with a personal access token (in GitLab mode, a GitLab token), checked with `GET /user`. */
export function SignInPage({ onSignedIn }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState(/** @type {string | null} */ (null));
  const [busy, setBusy] = useState(false);
  const submit = async (/** @type {Event} */ event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { body } = await apiCall(token.trim(), "GET", "/api/v4/user", "sign you in");
      onSignedIn(token.trim(), body);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card narrow" aria-labelledby="sign-in-title">
    <h1 id="sign-in-title">Sign in</h1>
    <p>Use a personal access token (in GitLab mode, a GitLab token with <code>read_api</code>). It is kept in this browser tab only, until you sign out or close it.</p>
    <form onSubmit=${submit}>
      <label for="token">Access token</label>
      <input id="token" name="token" type="password" autocomplete="off" required value=${token}
        onInput=${(/** @type {any} */ e) => setToken(e.currentTarget.value)} />
      <button type="submit" disabled=${busy || token.trim() === ""}>${busy ? "Signing in…" : "Sign in"}</button>
    </form>
    <${ErrorMessage} text=${error} />
  </section>`;
}
