// The field app's storage (IndexedDB) and the parts of sync that move photo bytes, so a photo never travels through
// .NET: the app keeps the blob here and uploads it from here in chunks.
const DbName = 'workorders-field';
const Stores = ['kv', 'outbox', 'photos', 'results'];
let opened;

function db() {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DbName, 1);
    request.onupgradeneeded = () => {
      const d = request.result;
      d.createObjectStore('kv');
      d.createObjectStore('outbox', { keyPath: 'commandId' });
      d.createObjectStore('photos', { keyPath: 'sha256' });
      d.createObjectStore('results', { keyPath: 'commandId' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

async function run(store, mode, action) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction(store, mode);
    let result;
    const request = action(tx.objectStore(store));
    if (request) request.onsuccess = () => { result = request.result; };
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export const get = (store, key) => run(store, 'readonly', s => s.get(key)).then(v => v ?? null);
export const put = (store, value, key) => run(store, 'readwrite', s => key === undefined || key === null ? s.put(value) : s.put(value, key));
export const remove = (store, key) => run(store, 'readwrite', s => s.delete(key));
export const count = store => run(store, 'readonly', s => s.count());

// Values in key order (the outbox's UUIDv7 keys sort by creation), without the photo blobs.
export const all = (store, limit) => run(store, 'readonly', s => s.getAll(null, limit || undefined))
  .then(items => items.map(i => (i && i.blob ? { ...i, blob: undefined } : i)));

export async function removeMany(store, keys) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction(store, 'readwrite');
    const s = tx.objectStore(store);
    for (const k of keys) s.delete(k);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}

export async function clearAll() {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction(Stores, 'readwrite');
    for (const s of Stores) tx.objectStore(s).clear();
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}

// Space used and offered (bytes), and whether the browser keeps the data when space runs short.
export async function storage() {
  const estimate = navigator.storage?.estimate ? await navigator.storage.estimate() : {};
  const persisted = navigator.storage?.persisted ? await navigator.storage.persisted() : false;
  return { usage: estimate.usage ?? 0, quota: estimate.quota ?? 0, persisted };
}

export const persist = async () => (navigator.storage?.persist ? await navigator.storage.persist() : false);

const hex = buffer => [...new Uint8Array(buffer)].map(b => b.toString(16).padStart(2, '0')).join('');

// Keeps the photo chosen in a file input: stored by its SHA-256, returned as { sha256, fileName, contentType, size }.
export async function keepPhoto(input) {
  const file = input?.files?.[0];
  if (!file) return null;
  const bytes = await file.arrayBuffer();
  const sha256 = hex(await crypto.subtle.digest('SHA-256', bytes));
  const contentType = file.type || 'image/jpeg';
  const existing = await get('photos', sha256);
  if (!existing) {
    await put('photos', { sha256, blob: new Blob([bytes], { type: contentType }), contentType, size: bytes.byteLength, fileName: file.name || 'photo.jpg', uploaded: false });
  }
  input.value = '';
  return { sha256, fileName: file.name || 'photo.jpg', contentType, size: bytes.byteLength };
}

export async function photoUrl(sha256) {
  const p = await get('photos', sha256);
  return p ? URL.createObjectURL(p.blob) : null;
}

// Uploads one photo in chunks, each from the offset the server holds (HEAD first), so a cut link re-sends at most the
// chunk it cut. A cut HEAD is asked again; 20 cuts in one run, or the browser going offline, end the run (the next run
// resumes). Answers { ok, sent } or { ok: false, status, sent }; sent counts every byte put on the wire, cut ones too.
export async function uploadPhoto(sha256, authorization, chunkBytes) {
  const p = await get('photos', sha256);
  if (!p) return { ok: false, status: 0, sent: 0, missing: true };
  if (p.uploaded) return { ok: true, sent: 0 };
  const url = `/api/v1/field/photos/${sha256}`;
  const headers = { Authorization: authorization };
  let sent = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    let offset = 0;
    const head = await fetch(url, { method: 'HEAD', headers, cache: 'no-store' }).catch(() => null);
    if (!head) {
      if (!navigator.onLine) return { ok: false, status: 0, sent };
      continue; // the link was cut before the server said where it stands: ask again
    }
    if (head.ok) {
      if (head.headers.get('Upload-Complete') === '?1') { await markUploaded(p); return { ok: true, sent }; }
      offset = Number(head.headers.get('Upload-Offset') ?? 0);
    } else if (head.status !== 404) {
      return { ok: false, status: head.status, sent };
    }
    while (offset < p.size) {
      const end = Math.min(offset + chunkBytes, p.size);
      const response = await fetch(url, {
        method: 'PUT',
        headers: { ...headers, 'Content-Type': p.contentType, 'Content-Range': `bytes ${offset}-${end - 1}/${p.size}` },
        body: p.blob.slice(offset, end),
      }).catch(() => null);
      sent += end - offset;
      if (!response) break; // a cut link: ask the server where it stands and go on from there
      if (response.status === 409) break;
      if (!response.ok) return { ok: false, status: response.status, sent };
      offset = end;
    }
    if (offset >= p.size) { await markUploaded(p); return { ok: true, sent }; }
    if (!navigator.onLine) return { ok: false, status: 0, sent };
  }
  return { ok: false, status: 0, sent };
}

async function markUploaded(p) {
  await put('photos', { ...p, uploaded: true });
}

export const online = () => navigator.onLine;
export const language = () => navigator.language || 'en';

// Calls back into .NET when the connection comes back or the app becomes visible: the moments sync runs.
export function watch(dotnet) {
  window.addEventListener('online', () => dotnet.invokeMethodAsync('OnWake', 'online'));
  window.addEventListener('offline', () => dotnet.invokeMethodAsync('OnWake', 'offline'));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') dotnet.invokeMethodAsync('OnWake', 'visible');
  });
}

// The QR label through the camera where the browser has BarcodeDetector; null where it has not (type the code).
export const canScan = () => 'BarcodeDetector' in window && !!navigator.mediaDevices?.getUserMedia;

export async function scan(video) {
  const detector = new BarcodeDetector({ formats: ['qr_code'] });
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  video.srcObject = stream;
  await video.play();
  try {
    for (let i = 0; i < 600; i++) {
      const codes = await detector.detect(video);
      if (codes.length) return codes[0].rawValue;
      await new Promise(r => setTimeout(r, 100));
    }
    return null;
  } finally {
    stream.getTracks().forEach(t => t.stop());
    video.srcObject = null;
  }
}

export const clickElement = element => element?.click();
