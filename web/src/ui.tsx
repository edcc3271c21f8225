// Small shared pieces: links, fields with their errors, states, confirm dialog.

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { nextPage, prevPage, type Pager } from "./logic";
import { linkClick } from "./router";

export function Link(props: JSX.HTMLAttributes<HTMLAnchorElement> & { href: string }) {
  return <a {...props} onClick={linkClick as unknown as JSX.MouseEventHandler<HTMLAnchorElement>} />;
}

export function Field(props: {
  id: string;
  label: string;
  error?: string;
  hint?: ComponentChildren;
  children: (aria: { id: string; "aria-invalid"?: boolean; "aria-describedby"?: string }) => ComponentChildren;
}) {
  const errId = `${props.id}-error`;
  const hintId = `${props.id}-hint`;
  const described = [props.hint ? hintId : "", props.error ? errId : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`field${props.error ? " invalid" : ""}`}>
      <label for={props.id}>{props.label}</label>
      {props.children({ id: props.id, "aria-invalid": props.error ? true : undefined, "aria-describedby": described })}
      {props.hint && (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      )}
      {props.error && (
        <p class="field-error" id={errId}>
          {props.error}
        </p>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="state" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function ErrorBox({ message, retry }: { message: string; retry?: () => void }) {
  return (
    <div class="alert error" role="alert">
      <p>{message}</p>
      {retry && (
        <button type="button" class="secondary" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Notice({ kind = "info", children }: { kind?: "info" | "warning" | "success"; children: ComponentChildren }) {
  return (
    <div class={`alert ${kind}`} role={kind === "warning" ? "alert" : "status"}>
      {children}
    </div>
  );
}

/** Confirm is a modal dialog (native <dialog>: focus is trapped, Escape cancels). */
export function Confirm(props: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  busy?: boolean;
  error?: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog
      ref={ref}
      class="confirm"
      aria-labelledby="confirm-title"
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id="confirm-title">{props.title}</h2>
      <div>{props.children}</div>
      {props.error && <ErrorBox message={props.error} />}
      <div class="actions">
        <button type="button" class="danger" disabled={props.busy} onClick={props.onConfirm}>
          {props.busy ? "Working…" : props.confirmLabel}
        </button>
        <button type="button" class="secondary" onClick={props.onCancel} autofocus>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

/** CopyButton copies text; describedBy names what it copies (the id of the text shown), for screen readers. */
export function CopyButton({ text, label = "Copy", describedBy }: { text: string; label?: string; describedBy?: string }) {
  const btn = useRef<HTMLButtonElement>(null);
  return (
    <button
      type="button"
      class="secondary small"
      ref={btn}
      aria-describedby={describedBy}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          if (btn.current) btn.current.textContent = "Copied";
        } catch {
          if (btn.current) btn.current.textContent = "Copy failed: select the text";
        }
        setTimeout(() => btn.current && (btn.current.textContent = label), 2000);
      }}
    >
      {label}
    </button>
  );
}

/** Check is a checkbox with its label, hint and error. */
export function Check(p: { id: string; label: string; hint?: string; checked: boolean; disabled?: boolean; error?: string; onChange: (v: boolean) => void }) {
  const described = [p.hint ? `${p.id}-hint` : "", p.error ? `${p.id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`check${p.error ? " invalid" : ""}`}>
      <input id={p.id} type="checkbox" checked={p.checked} disabled={p.disabled} aria-invalid={p.error ? true : undefined} aria-describedby={described} onChange={(e) => p.onChange((e.currentTarget as HTMLInputElement).checked)} />
      <label for={p.id}>{p.label}</label>
      {p.hint && (
        <p class="hint" id={`${p.id}-hint`}>
          {p.hint}
        </p>
      )}
      {p.error && (
        <p class="field-error" id={`${p.id}-error`}>
          {p.error}
        </p>
      )}
    </div>
  );
}

/** CursorPager moves through a cursor-paged list: shown once there is more than one page. */
export function CursorPager({ pager, nextCursor, onPage, label }: { pager: Pager; nextCursor?: string; onPage: (p: Pager) => void; label: string }) {
  if (pager.index === 0 && !nextCursor) return null;
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" class="secondary" disabled={pager.index === 0} onClick={() => onPage(prevPage(pager))}>
        Previous
      </button>
      <span>Page {pager.index + 1}</span>
      <button type="button" class="secondary" disabled={!nextCursor} onClick={() => nextCursor && onPage(nextPage(pager, nextCursor))}>
        Next
      </button>
    </nav>
  );
}
