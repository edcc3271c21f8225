import { useState } from "preact/hooks";
import { errorMessage, type ImportFormat, type Membership } from "../api";
import { useSession } from "../session";
import { exportFileName, exportTypes } from "../rules";
import { ErrorBox } from "../ui";

/** save hands text to the browser as a file download. */
function save(text: string, name: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own copy once started.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** ExportButtons download every route of the org with its rules, as the CSV or JSON the import takes. */
export function ExportButtons({ org }: { org: Membership }) {
  const { api } = useSession();
  const [busy, setBusy] = useState<ImportFormat | "">("");
  const [err, setErr] = useState("");
  const [done, setDone] = useState("");

  async function download(format: ImportFormat) {
    setBusy(format);
    setErr("");
    setDone("");
    try {
      const text = await api.exportRoutes(org.id, format);
      const name = exportFileName(org.name, format);
      save(text, name, exportTypes[format]);
      setDone(`Downloaded ${name}.`);
    } catch (e) {
      setErr(errorMessage(e));
    } finally {
      setBusy("");
    }
  }

  return (
    <div class="export" role="group" aria-label="Export all routes">
      <button type="button" class="secondary small" disabled={busy !== ""} onClick={() => download("csv")}>
        {busy === "csv" ? "Exporting…" : "Export CSV"}
      </button>
      <button type="button" class="secondary small" disabled={busy !== ""} onClick={() => download("json")}>
        {busy === "json" ? "Exporting…" : "Export JSON"}
      </button>
      <span class="hint" role="status">
        {done}
      </span>
      {err && <ErrorBox message={`The export failed: ${err}`} />}
    </div>
  );
}
