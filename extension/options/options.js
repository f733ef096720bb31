/** Options page: choose the server and sign in or out with a per-device token. */
import { originPattern, signIn, signOut, whoAmI } from "../background/auth.js";
import { ext } from "../shared/browser.js";
import { getServer } from "../shared/storage.js";

const $ = (id) => document.getElementById(id);
let grantedOrigins = [];

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").classList.toggle("error", isError);
}

/** Whether `pattern` is covered by a host permission granted already (manifest or earlier). */
function isGranted(pattern) {
  const scheme = pattern.split(":")[0];
  return (
    grantedOrigins.includes(pattern) ||
    grantedOrigins.includes("<all_urls>") ||
    grantedOrigins.includes(`${scheme}://*/*`)
  );
}

async function refresh() {
  grantedOrigins = (await ext.permissions.getAll()).origins || [];
  const account = await whoAmI();
  $("signed-in").hidden = !account;
  $("sign-in-form").hidden = Boolean(account);
  if (account) {
    $("who").textContent = account.username;
    $("where").textContent = account.server;
    $("expiry").textContent = account.expiry
      ? `This device's sign-in expires on ${new Date(account.expiry).toLocaleDateString()}.`
      : "";
  }
  $("server").value = account?.server || (await getServer());
}

async function submitSignIn(permission) {
  const server = $("server").value;
  if (!(await permission)) {
    throw new Error("Unmask needs permission to contact this server. Allow it and try again.");
  }
  const account = await signIn(server, $("username").value.trim(), $("password").value);
  $("password").value = "";
  await refresh();
  say(`Signed in as ${account.username}.`);
}

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  let permission = Promise.resolve(true);
  try {
    const pattern = originPattern($("server").value);
    // Firefox only shows the permission prompt while handling the click: ask before any await.
    if (!isGranted(pattern)) permission = ext.permissions.request({ origins: [pattern] });
  } catch (error) {
    say(error.message, true);
    return;
  }
  say("Signing in…");
  submitSignIn(permission).catch((error) => say(error.message, true));
});

$("sign-out").addEventListener("click", () => {
  say("Signing out…");
  signOut()
    .then(async (message) => {
      await refresh();
      say(message);
    })
    .catch((error) => say(error.message, true));
});

refresh().catch((error) => say(error.message, true));
