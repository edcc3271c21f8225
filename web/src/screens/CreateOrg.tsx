import { useState } from "preact/hooks";
import { ApiError, errorMessage } from "../api";
import { useSession } from "../session";
import { href, navigate } from "../router";
import { ErrorBox, Field } from "../ui";

export function CreateOrg({ first }: { first: boolean }) {
  const { api, reloadMe } = useSession();
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [fieldErr, setFieldErr] = useState<string>();
  const [err, setErr] = useState("");

  async function submit(e: Event) {
    e.preventDefault();
    setErr("");
    setFieldErr(undefined);
    if (!name.trim()) {
      setFieldErr("Enter a name for the org.");
      return;
    }
    setBusy(true);
    try {
      const org = await api.createOrg(name.trim());
      await reloadMe();
      navigate(href({ name: "routes", orgId: org.id }));
    } catch (e) {
      if (e instanceof ApiError && e.field("name")) setFieldErr(e.field("name"));
      else setErr(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="narrow">
      <h1>{first ? "Welcome: create your org" : "Create an org"}</h1>
      {first && <p>An org holds your routes, members and API keys. You can invite others to it later.</p>}
      <form onSubmit={submit} noValidate>
        <Field id="org-name" label="Org name" error={fieldErr}>
          {(a) => (
            <input
              {...a}
              type="text"
              maxLength={100}
              required
              autocomplete="organization"
              value={name}
              onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
            />
          )}
        </Field>
        {err && <ErrorBox message={err} />}
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create org"}
        </button>
      </form>
    </section>
  );
}
