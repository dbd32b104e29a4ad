// The consent portal's browser code: one bundle (esbuild, scripts/setup.sh), started by the
// page named in <main data-page>. Keys and secret words stay in this browser.
import { start as consent } from "./pages/consent.js";
import { start as consents } from "./pages/consents.js";
import { start as history } from "./pages/history.js";
import { start as guardians } from "./pages/guardians.js";
import { start as home } from "./pages/home.js";
import { start as verify } from "./pages/verify.js";
import { say, sentence } from "./ui.js";

const PAGES = { home, consent, consents, history, verify, guardians };

const main = document.getElementById("main");
const page = PAGES[main?.dataset.page];
if (page) {
  page(main).catch((error) => say("status", sentence(error), "refused"));
}
