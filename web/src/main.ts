// Entry: login (token pasted or minted by `postloan token`), then a hash router over the pages.
import { alertsPage } from "./alerts";
import { clients, type Config } from "./client";
import { casePage, worklistPage } from "./collector";
import { dashboardPage } from "./dashboard";
import { esc } from "./html";

const root = document.getElementById("app")!;
const nav = document.getElementById("nav")!;
const config: Config = await (await fetch("config.json")).json();

function loginPage(): void {
  nav.hidden = true;
  root.innerHTML = `<h1>postloan console</h1><form id="login"><p>Paste a token (<code>postloan token</code>):</p>
    <textarea name="token" rows="4" cols="80" required></textarea><br /><button type="submit">Log in</button></form>`;
  const form = root.querySelector<HTMLFormElement>("#login")!;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("token", String(new FormData(form).get("token")).trim());
    location.hash = "#/worklist";
    route();
  });
}

async function route(): Promise<void> {
  const token = sessionStorage.getItem("token");
  const [page, arg] = location.hash.replace(/^#\//, "").split("/").map(decodeURIComponent);
  if (page === "logout") sessionStorage.removeItem("token");
  if (!token || page === "logout") return loginPage();
  nav.hidden = false;
  const api = clients(config, token);
  root.innerHTML = "<p>Loading…</p>";
  try {
    if (page === "case" && arg) await casePage(api, root, arg);
    else if (page === "alerts") await alertsPage(api, root);
    else if (page === "dashboard") await dashboardPage(api, root, arg || new Date().toISOString().slice(0, 10));
    else await worklistPage(api, root);
  } catch (error) {
    root.innerHTML = `<p class="error">${esc((error as Error).message)}</p>`;
  }
}

window.addEventListener("hashchange", () => void route());
void route();
