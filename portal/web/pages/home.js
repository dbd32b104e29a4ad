// The start page: make, restore or unlock the secret words, or use the browser's wallet.
import { mode, ready, useWallet, useWords } from "../signer.js";
import { $, say, sentence } from "../ui.js";
import { hasVault, forget } from "../vault.js";
import { hasWallet, sharedAccount } from "../wallet.js";

async function showWallet(chainId) {
  await ready(chainId); // connects and checks the chain: a wrong chain is said in plain words
  $("wallet-address").textContent = await sharedAccount();
  $("wallet-ready").hidden = false;
  $("switch-to-words").addEventListener("click", () => {
    useWords();
    window.location.reload();
  });
}

export async function start(main) {
  const chainId = main.dataset.chainId;
  if (mode() === "wallet") return showWallet(chainId);
  if (!hasVault()) await ready(chainId); // the person may choose the wallet here
  if (mode() === "wallet") return showWallet(chainId);
  $("identity-ready").hidden = false;
  $("forget").addEventListener("click", () => {
    forget();
    window.location.reload();
  });
  if (hasWallet()) {
    $("switch-to-wallet").hidden = false;
    $("switch-to-wallet").addEventListener("click", async () => {
      try {
        await useWallet(chainId);
        window.location.reload();
      } catch (error) {
        say("status", sentence(error), "refused");
      }
    });
  }
}
