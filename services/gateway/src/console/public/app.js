import { apiCall } from "./api.js";
import { useEffect, useState } from "./hooks.mjs";
import { AgentPage } from "./page-agent.js";
import { InventoryPage } from "./page-inventory.js";
import { SearchPage } from "./page-search.js";
import { SignInPage } from "./page-sign-in.js";
import { VerifyPage } from "./page-verify.js";
import { render } from "./preact.mjs";
import { html } from "./ui.js";

/** The token lives for this browser tab's session only (sessionStorage), never in a URL or cookie. */
const TOKEN_KEY = "kasmap.console.token";
const THEME_KEY = "kasmap.console.theme";

/** The page a location hash names: `#/`, `#/inventory`, `#/agents/<project>/<agent>?at=`, `#/verify/<project>/<agent>`. */
function routeOf(/** @type {string} */ hash) {
  const [path = "", query = ""] = hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  if (parts[0] === "inventory") return { page: "inventory", params };
  if ((parts[0] === "agents" || parts[0] === "verify") && parts[1] && /^\d+$/.test(parts[2] ?? "")) {
    return { page: parts[0], projectId: parts[1], agentId: Number(parts[2]), params };
  }
  return { page: "search", params };
}

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return hash;
}

/** Light or dark: the system's choice until the user picks one with the toggle. */
function useTheme() {
  const systemDark = matchMedia("(prefers-color-scheme: dark)").matches;
  const [theme, setTheme] = useState(localStorage.getItem(THEME_KEY) ?? (systemDark ? "dark" : "light"));
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  const toggle = () => {
    const next = theme === "dark" ? "light" : "dark";
    localStorage.setItem(THEME_KEY, next);
    setTheme(next);
  };
  return { theme, toggle };
}

function App() {
  const hash = useHash();
  const { theme, toggle } = useTheme();
  const [session, setSession] = useState(() => {
    const token = sessionStorage.getItem(TOKEN_KEY);
    return token ? { token, user: null } : null;
  });
  // A token from an earlier page load is checked again; a rejected one signs the user out.
  useEffect(() => {
    if (!session || session.user) return;
    apiCall(session.token, "GET", "/api/v4/user", "check your token").then(
      ({ body }) => setSession({ token: session.token, user: body }),
      () => signOut(),
    );
  }, [session]);
  const signIn = (/** @type {string} */ token, /** @type {any} */ user) => {
    sessionStorage.setItem(TOKEN_KEY, token);
    setSession({ token, user });
  };
  const signOut = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setSession(null);
  };
  const route = routeOf(hash);
  useEffect(() => {
    document.getElementById("main")?.focus();
  }, [hash]);
  return html`
    <a class="skip" href="#main" onClick=${(/** @type {Event} */ e) => {
      e.preventDefault();
      document.getElementById("main")?.focus();
    }}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/">Kasmap console</a>
      ${
        session?.user
          ? html`<nav aria-label="Main">
        <a href="#/" aria-current=${route.page === "search" ? "page" : undefined}>Search</a>
        <a href="#/inventory" aria-current=${route.page === "inventory" ? "page" : undefined}>Inventory</a>
      </nav>`
          : null
      }
      <div class="session">
        <button type="button" class="theme" onClick=${toggle} aria-pressed=${theme === "dark"}>
          Dark theme
        </button>
        ${
          session?.user
            ? html`<span class="user">Signed in as <strong>${session.user.username}</strong></span>
          <button type="button" onClick=${signOut}>Sign out</button>`
            : null
        }
      </div>
    </header>
    <main id="main" tabindex="-1">
      ${
        !session
          ? html`<${SignInPage} onSignedIn=${signIn} />`
          : !session.user
            ? html`<p role="status">Checking your token…</p>`
            : route.page === "inventory"
              ? html`<${InventoryPage} token=${session.token} params=${route.params} />`
              : route.page === "agents"
                ? html`<${AgentPage} token=${session.token} projectId=${route.projectId} agentId=${route.agentId} at=${route.params.get("at")} />`
                : route.page === "verify"
                  ? html`<${VerifyPage} token=${session.token} projectId=${route.projectId} agentId=${route.agentId} />`
                  : html`<${SearchPage} token=${session.token} params=${route.params} />`
      }
    </main>
    <footer class="bottom"><p>Kasmap reads only what your token may read. <a href="/api/v4/docs">API documentation</a></p></footer>
  `;
}

render(html`<${App} />`, /** @type {HTMLElement} */ (document.getElementById("app")));
