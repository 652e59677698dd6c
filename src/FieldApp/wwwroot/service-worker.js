// The field app's service worker, the same file in a build and a publish. Every GET under /field/ goes to the network
// first and its answer is kept; when the network is not there (or too slow), the kept copy answers, and a page
// address answers with the kept app shell. After the first load the page lists what it loaded (js/start.js) and the
// worker keeps those too, so the next start works offline even though the first load was not yet under the worker.
const Cache = 'workorders-field-v1';
const Shell = './';
const Scope = new URL('./', self.location).pathname;
const Slow = 6000;

self.addEventListener('install', event => {
  event.waitUntil(caches.open(Cache)
    .then(cache => cache.addAll([Shell, 'manifest.webmanifest', 'css/app.css', 'js/start.js', 'js/store.js', 'icon-192.png', 'icon-512.png']))
    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', event => {
  event.waitUntil(caches.keys()
    .then(keys => Promise.all(keys.filter(k => k.startsWith('workorders-field-') && k !== Cache).map(k => caches.delete(k))))
    .then(() => self.clients.claim()));
});

function fromNetwork(request, key) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('slow')), Slow);
    fetch(request).then(async response => {
      clearTimeout(timer);
      if (response.ok && response.type === 'basic') {
        const cache = await caches.open(Cache);
        await cache.put(key, response.clone());
      }
      resolve(response);
    }, error => { clearTimeout(timer); reject(error); });
  });
}

self.addEventListener('fetch', event => {
  const request = event.request;
  const url = new URL(request.url);
  // Only the app's own files: the API (outside /field/) always goes to the network, untouched.
  if (request.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith(Scope) || url.pathname.endsWith('/service-worker.js')) {
    return;
  }

  if (request.mode === 'navigate') {
    event.respondWith(fromNetwork(request, Shell).catch(async () => (await caches.match(Shell)) ?? Response.error()));
    return;
  }

  const key = url.origin + url.pathname + url.search;
  event.respondWith(fromNetwork(request, key).catch(async () => (await caches.match(key, { ignoreVary: true })) ?? Response.error()));
});

// { type: 'keep', urls: [...] }: keeps what the page loaded before the worker took it over; answers the count kept.
self.addEventListener('message', event => {
  if (event.data?.type !== 'keep') {
    return;
  }

  event.waitUntil((async () => {
    const cache = await caches.open(Cache);
    let kept = 0;
    for (const u of event.data.urls) {
      const url = new URL(u, self.location);
      if (url.origin !== self.location.origin || !url.pathname.startsWith(Scope)) continue;
      const key = url.origin + url.pathname + url.search;
      if (await cache.match(key)) { kept++; continue; }
      try {
        const response = await fetch(key);
        if (response.ok) { await cache.put(key, response); kept++; }
      } catch {
        // offline again: the rest is kept on the next start
      }
    }
    event.ports[0]?.postMessage({ kept });
  })());
});
