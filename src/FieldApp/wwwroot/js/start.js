// Starts Blazor, registers the service worker, and once the app runs hands the worker the list of files the first
// load fetched, so they are kept for offline starts. <html data-offline-ready> tells that the app can open offline.
performance.setResourceTimingBufferSize(2000);

async function keepForOffline() {
  if (!('serviceWorker' in navigator)) return;
  const registration = await navigator.serviceWorker.register('service-worker.js', { scope: './', updateViaCache: 'none' });
  await navigator.serviceWorker.ready;
  const worker = registration.active;
  const urls = [document.baseURI, ...performance.getEntriesByType('resource').map(e => e.name)];
  const channel = new MessageChannel();
  const done = new Promise(resolve => { channel.port1.onmessage = e => resolve(e.data); });
  worker.postMessage({ type: 'keep', urls }, [channel.port2]);
  const { kept } = await done;
  document.documentElement.dataset.offlineReady = String(kept);
}

Blazor.start().then(() => keepForOffline()).catch(e => console.error('field app: offline copy not made', e));
