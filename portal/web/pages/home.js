// The start page: make, restore or unlock the secret words.
import { $, ready } from "../ui.js";
import { forget, hasVault } from "../vault.js";

export async function start() {
  if (!hasVault()) await ready();
  $("identity-ready").hidden = false;
  $("forget").addEventListener("click", () => {
    forget();
    window.location.reload();
  });
}
