import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, type Member, type Membership, type Role } from "../api";
import { useSession } from "../session";
import { assignableRoles, canChangeRole, canManageMembers, canRemove, deniedMessage, roleLabels, validateEmail, whenText } from "../logic";
import { href, navigate } from "../router";
import { Confirm, ErrorBox, Field, Link, Loading, Notice } from "../ui";

const PAGE_SIZE = 100;

export function MembersScreen({ org }: { org: Membership }) {
  const { api, me, reloadMe } = useSession();
  const [items, setItems] = useState<Member[] | null>(null);
  const [next, setNext] = useState<string | undefined>();
  const [err, setErr] = useState("");
  const [moreBusy, setMoreBusy] = useState(false);
  const [announce, setAnnounce] = useState("");
  const [rowBusy, setRowBusy] = useState("");
  const [rowErr, setRowErr] = useState<{ email: string; msg: string } | null>(null);
  const [removing, setRemoving] = useState<Member | null>(null);
  const [rmBusy, setRmBusy] = useState(false);
  const [rmErr, setRmErr] = useState("");

  const load = useCallback(() => {
    setErr("");
    setItems(null);
    api
      .members(org.id, { limit: PAGE_SIZE })
      .then((p) => {
        setItems(p.items);
        setNext(p.nextCursor);
      })
      .catch((e) => setErr(deniedMessage(e, "see the members")));
  }, [api, org.id]);
  useEffect(load, [load]);

  async function more() {
    setMoreBusy(true);
    try {
      const p = await api.members(org.id, { limit: PAGE_SIZE, cursor: next });
      setItems((xs) => [...(xs ?? []), ...p.items.filter((m) => !(xs ?? []).some((x) => x.email === m.email))]);
      setNext(p.nextCursor);
    } catch (e) {
      setErr(deniedMessage(e, "see the members"));
    } finally {
      setMoreBusy(false);
    }
  }

  async function changeRole(m: Member, role: Role) {
    if (role === m.role) return;
    setRowBusy(m.email);
    setRowErr(null);
    try {
      const u = await api.updateMember(org.id, m.email, role);
      setItems((xs) => xs && xs.map((x) => (x.email === u.email ? u : x)));
      setAnnounce(`${u.email} is now ${roleLabels[u.role].toLowerCase()}.`);
      if (u.email === me.email) await reloadMe();
    } catch (e) {
      setRowErr({ email: m.email, msg: deniedMessage(e, "change this member's role") });
    } finally {
      setRowBusy("");
    }
  }

  async function confirmRemove() {
    if (!removing) return;
    const gone = removing;
    setRmBusy(true);
    setRmErr("");
    try {
      await api.removeMember(org.id, gone.email);
      setRemoving(null);
      if (gone.email === me.email) {
        await reloadMe();
        navigate("/", { replace: true });
        return;
      }
      setItems((xs) => xs && xs.filter((x) => x.email !== gone.email));
      setAnnounce(`${gone.email} removed.`);
    } catch (e) {
      setRmErr(deniedMessage(e, "remove this member"));
    } finally {
      setRmBusy(false);
    }
  }

  const manager = canManageMembers(org.role);
  return (
    <section>
      <h1>Members</h1>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announce}
      </p>
      {org.plan === "free" ? (
        <Notice>
          <p>
            <strong>Upgrade to add members.</strong> An org on the free plan has one member, its owner. Upgrade to a paid plan to invite members.
          </p>
          <p>
            <Link class="button" href={href({ name: "billing", orgId: org.id })}>
              See plans in Billing
            </Link>
          </p>
        </Notice>
      ) : manager ? (
        <InviteForm org={org} onAdded={(m) => {
          setItems((xs) => xs && [...xs.filter((x) => x.email !== m.email), m].sort((a, b) => a.email.localeCompare(b.email)));
          setAnnounce(`${m.email} added as ${roleLabels[m.role].toLowerCase()}.`);
        }} />
      ) : (
        <p class="state">Only the org's owners and admins can invite members.</p>
      )}
      <h2>People in {org.name}</h2>
      {err && <ErrorBox message={err} retry={load} />}
      {!err && !items && <Loading what="members" />}
      {items && items.length === 0 && (
        <Notice>
          <p>No members to show.</p>
        </Notice>
      )}
      {items && items.length > 0 && (
        <ul class="cards" aria-label="Members">
          {items.map((m, i) => {
            const self = m.email === me.email;
            const changeable = manager && canChangeRole(org.role, m.role);
            const options = assignableRoles(org.role);
            return (
              <li key={m.email} class="card">
                <div>
                  <h3 class="host" id={`member-${i}`}>
                    {m.email} {self && <span class="badge">you</span>}
                  </h3>
                  <p class="meta">
                    {changeable ? (
                      <>
                        <label class="visually-hidden" for={`member-role-${i}`}>
                          Role for {m.email}
                        </label>
                        <select
                          id={`member-role-${i}`}
                          value={m.role}
                          disabled={rowBusy === m.email}
                          onChange={(e) => void changeRole(m, (e.currentTarget as HTMLSelectElement).value as Role)}
                        >
                          {(options.includes(m.role) ? options : [m.role, ...options]).map((r) => (
                            <option value={r} key={r}>
                              {roleLabels[r]}
                            </option>
                          ))}
                        </select>
                      </>
                    ) : (
                      <span class="badge">{roleLabels[m.role]}</span>
                    )}
                    <span>Member since {whenText(m.createdAt, "—")}</span>
                  </p>
                </div>
                <div class="row-actions">
                  {canRemove(org.role, m.role, self) && (
                    <button type="button" class="danger small" aria-describedby={`member-${i}`} onClick={() => { setRmErr(""); setRemoving(m); }}>
                      {self ? "Leave" : "Remove"}
                    </button>
                  )}
                </div>
                {rowErr?.email === m.email && <ErrorBox message={rowErr.msg} />}
              </li>
            );
          })}
        </ul>
      )}
      {items && next && (
        <p class="actions">
          <button type="button" class="secondary" disabled={moreBusy} onClick={more}>
            {moreBusy ? "Loading…" : "Show more members"}
          </button>
        </p>
      )}
      {removing && (
        <Confirm
          title={removing.email === me.email ? `Leave ${org.name}?` : `Remove ${removing.email}?`}
          confirmLabel="Remove"
          busy={rmBusy}
          error={rmErr}
          onConfirm={confirmRemove}
          onCancel={() => setRemoving(null)}
        >
          <p>
            {removing.email === me.email ? (
              <>You will lose access to this org's routes at once.</>
            ) : (
              <>
                <code>{removing.email}</code> will lose access to this org at once.
              </>
            )}
          </p>
        </Confirm>
      )}
    </section>
  );
}

function InviteForm({ org, onAdded }: { org: Membership; onAdded: (m: Member) => void }) {
  const { api } = useSession();
  const roles = assignableRoles(org.role);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [err, setErr] = useState("");
  const [limit, setLimit] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setErr("");
    setLimit("");
    const bad = validateEmail(email);
    setErrs(bad ? { email: bad } : {});
    if (bad) {
      document.getElementById("member-email")?.focus();
      return;
    }
    setBusy(true);
    try {
      const m = await api.addMember(org.id, { email: email.trim(), role });
      onAdded(m);
      setEmail("");
      setRole("member");
    } catch (e) {
      if (e instanceof ApiError && Object.keys(e.fields).length) {
        setErrs(e.fields);
        const known = Object.keys(e.fields).filter((f) => f === "email" || f === "role");
        if (known.length < Object.keys(e.fields).length) setErr(e.detail);
        document.getElementById(`member-${known[0]}`)?.focus();
      } else if (e instanceof ApiError && e.code === "member_exists") {
        setErrs({ email: e.detail });
        document.getElementById("member-email")?.focus();
      } else if (e instanceof ApiError && e.code === "plan_limit_reached") {
        setLimit(e.detail);
      } else setErr(deniedMessage(e, "invite this member"));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card narrow" onSubmit={submit} noValidate aria-labelledby="invite-title">
      <h2 id="invite-title">Invite a member</h2>
      <Field id="member-email" label="Email" error={errs.email} hint="They sign in with this address to see the org.">
        {(a) => (
          <input {...a} type="email" autocomplete="off" autocapitalize="off" spellcheck={false} maxLength={254} required value={email} onInput={(e) => setEmail((e.currentTarget as HTMLInputElement).value)} />
        )}
      </Field>
      <Field id="member-role" label="Role" error={errs.role} hint="Members manage routes; admins also members and API keys; owners everything.">
        {(a) => (
          <select {...a} value={role} onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value as Role)}>
            {roles.map((r) => (
              <option value={r} key={r}>
                {roleLabels[r]}
              </option>
            ))}
          </select>
        )}
      </Field>
      {limit && (
        <Notice kind="warning">
          <p>{limit}</p>
          <p>
            <Link href={href({ name: "billing", orgId: org.id })}>Upgrade in Billing</Link> to add more members.
          </p>
        </Notice>
      )}
      {err && <ErrorBox message={err} />}
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? "Inviting…" : "Invite"}
        </button>
      </div>
    </form>
  );
}
