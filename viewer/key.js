/**
 * The API key of this browser tab: kept in sessionStorage (gone when the tab closes, never written to disk by
 * the page), asked for with the page's <dialog> when the server answers 401, or when the user presses
 * "API key…".
 *
 *   import { currentKey, askForKey } from "./key.js";
 *   const key = currentKey();                             // "" when none was entered
 *   const entered = await askForKey("This server needs an API key.");   // the new key, or null if cancelled
 *
 * However many calls wait for a key at once, the dialog opens once and all of them get its answer.
 */

const storageName = "histoae.apiKey";
/** Used when sessionStorage is unavailable (a browser that blocks storage): the key lives as long as the page. */
let keyInMemory = "";
let pendingAnswer = null;

/** The key entered in this tab, or "". */
export function currentKey() {
  try {
    return sessionStorage.getItem(storageName) ?? "";
  } catch {
    return keyInMemory;
  }
}

function storeKey(key) {
  keyInMemory = key;
  try {
    if (key) sessionStorage.setItem(storageName, key);
    else sessionStorage.removeItem(storageName);
  } catch {
    // Storage blocked: keyInMemory serves until the page closes.
  }
}

/**
 * Opens the key dialog saying `reason`; resolves with the key entered (stored for the session), or null when
 * the user cancels or forgets the key.
 */
export function askForKey(reason) {
  if (!pendingAnswer) {
    pendingAnswer = openDialog(reason).finally(() => { pendingAnswer = null; });
  }
  return pendingAnswer;
}

function openDialog(reason) {
  const dialog = document.getElementById("key-dialog");
  const form = document.getElementById("key-form");
  const input = document.getElementById("key-input");
  const forget = document.getElementById("key-forget");
  const cancel = document.getElementById("key-cancel");
  document.getElementById("key-reason").textContent = reason;
  forget.hidden = currentKey() === "";
  input.value = "";

  return new Promise((resolve) => {
    let answer = null;
    const finish = () => {
      form.removeEventListener("submit", onSubmit);
      forget.removeEventListener("click", onForget);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("close", finish);
      resolve(answer);
    };
    const onSubmit = (event) => {
      event.preventDefault();   // the page handles the key; the form never navigates
      const key = input.value.trim();
      if (!key) return;
      if (!/^[\x21-\x7e]+$/.test(key)) {   // a header carries printable ASCII only; the server's keys are such
        document.getElementById("key-reason").textContent = "A key is printable ASCII without spaces.";
        return;
      }
      storeKey(key);
      answer = key;
      dialog.close();
    };
    const onForget = () => {
      storeKey("");
      dialog.close();
    };
    const onCancel = () => dialog.close();
    form.addEventListener("submit", onSubmit);
    forget.addEventListener("click", onForget);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("close", finish);   // also after Escape
    dialog.showModal();
    input.focus();
  });
}
