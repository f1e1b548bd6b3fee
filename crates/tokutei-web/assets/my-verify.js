// Checks, on the subscriber's own device, that a record of the subscriber's page is in the
// audit ledger: the entry's bytes hash to its leaf (RFC 9162 §2.1.1), the inclusion path leads
// from that leaf to the root of the published checkpoint (§2.1.3.2), the checkpoint is signed
// by the carrier's key (C2SP signed note, Ed25519) and cosigned by the witnesses the page names
// (C2SP tlog-cosignature v1), at least as many as the quorum. Only WebCrypto is used; nothing
// is sent anywhere but this site's own /my/proof/N.
(() => {
  'use strict';
  const list = document.getElementById('uses');
  if (!list) return;
  const lang = document.documentElement.lang === 'en' ? 'en' : 'ja';
  const say = {
    ja: {
      checking: '検証しています…',
      ok: (i, s, w) => `✓ 検証できました: 記録 ${i} はサイズ ${s} のチェックポイントに含まれ、当社の署名` + (w > 0 ? `と証人 ${w} 人の連署` : '') + 'を確認しました',
      fetch: '証明を取得できませんでした',
      leaf: '記録の内容が証明と一致しません',
      index: '記録の番号が一致しません',
      path: '記録からチェックポイントの根に至りません',
      size: 'チェックポイントのサイズが証明と一致しません',
      signature: 'チェックポイントの署名を確認できません',
      witnesses: (w, q) => `証人の連署が足りません（${w} / ${q}）`,
      unsupported: 'このブラウザでは署名を検証できません（証明をダウンロードして確認してください）',
    },
    en: {
      checking: 'Checking…',
      ok: (i, s, w) => `✓ Verified: record ${i} is in the checkpoint of size ${s}, signed with our key` + (w > 0 ? ` and cosigned by ${w} witnesses` : ''),
      fetch: 'The proof could not be fetched',
      leaf: 'The record does not match its proof',
      index: 'The record number does not match',
      path: 'The record does not lead to the checkpoint\'s root',
      size: 'The checkpoint size does not match the proof',
      signature: 'The checkpoint\'s signature does not verify',
      witnesses: (w, q) => `Not enough witness cosignatures (${w} of ${q})`,
      unsupported: 'This browser cannot check signatures (download the proof to check it)',
    },
  }[lang];

  const enc = new TextEncoder();
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const hex = (text) => new Uint8Array(text.match(/../g).map((h) => parseInt(h, 16)));
  const b64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  const node = (l, r) => sha256(concat([1], l, r));

  class Failure extends Error {}
  const fail = (why) => { throw new Failure(why); };

  // RFC 9162 §2.1.3.2, with BigInt so indexes beyond 2^31 work.
  async function rootFromPath(index, size, leaf, path) {
    if (index >= size) fail(say.path);
    let fn = index;
    let sn = size - 1n;
    let r = leaf;
    for (const p of path) {
      if (sn === 0n) fail(say.path);
      if ((fn & 1n) === 1n || fn === sn) {
        r = await node(p, r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
        }
      } else {
        r = await node(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) fail(say.path);
    return r;
  }

  function parseNote(note) {
    const split = note.indexOf('\n\n');
    if (split < 0) fail(say.signature);
    const text = note.slice(0, split + 1);
    const lines = text.split('\n');
    const sigs = note.slice(split + 2).split('\n').filter((l) => l.length > 0).map((l) => {
      const rest = l.replace(/^\u2014 /, '');
      const space = rest.indexOf(' ');
      return { name: rest.slice(0, space), blob: b64(rest.slice(space + 1)) };
    });
    return { text, size: BigInt(lines[1]), root: b64(lines[2]), sigs };
  }

  async function parseKey(vkey) {
    const first = vkey.indexOf('+');
    const second = vkey.indexOf('+', first + 1);
    if (first < 0 || second < 0) fail(say.signature);
    const [name, id, key] = [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
    const bytes = b64(key);
    const alg = bytes[0];
    const pub = bytes.slice(1);
    const keyId = (await sha256(concat(enc.encode(name + '\n'), [alg], pub))).slice(0, 4);
    if (!equal(keyId, hex(id))) fail(say.signature);
    const cryptoKey = await crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
    return { name, alg, keyId, key: cryptoKey };
  }

  async function signedBy(note, key) {
    for (const s of note.sigs) {
      if (s.name !== key.name || !equal(s.blob.slice(0, 4), key.keyId)) continue;
      if (key.alg === 1 && s.blob.length === 68) {
        if (await crypto.subtle.verify('Ed25519', key.key, s.blob.slice(4), enc.encode(note.text))) return true;
      } else if (key.alg === 4 && s.blob.length === 76) {
        let time = 0n;
        for (const b of s.blob.slice(4, 12)) time = (time << 8n) | BigInt(b);
        const message = enc.encode(`cosignature/v1\ntime ${time}\n${note.text}`);
        if (await crypto.subtle.verify('Ed25519', key.key, s.blob.slice(12), message)) return true;
      }
    }
    return false;
  }

  async function verify(index) {
    const response = await fetch(`/my/proof/${index}`, { credentials: 'same-origin' });
    if (!response.ok) fail(say.fetch);
    const proof = await response.json();
    const entry = b64(proof.entry);
    const leaf = await sha256(concat([0], entry));
    if (!equal(leaf, hex(proof.leaf_hash))) fail(say.leaf);
    let seq = 0n;
    for (const b of entry.slice(2, 10)) seq = (seq << 8n) | BigInt(b);
    if (seq !== BigInt(index) || BigInt(proof.index) !== seq) fail(say.index);
    const note = parseNote(proof.checkpoint);
    if (note.size !== BigInt(proof.tree_size)) fail(say.size);
    const root = await rootFromPath(seq, note.size, leaf, proof.hashes.map(hex));
    if (!equal(root, note.root)) fail(say.path);
    let log;
    let witnesses;
    try {
      log = await parseKey(list.dataset.logKey);
      witnesses = await Promise.all(list.dataset.witnesses.split(' ').filter((k) => k).map(parseKey));
    } catch (e) {
      if (e instanceof Failure) throw e;
      fail(say.unsupported);
    }
    if (!(await signedBy(note, log))) fail(say.signature);
    let cosigned = 0;
    for (const w of witnesses) if (await signedBy(note, w)) cosigned += 1;
    const quorum = Number(list.dataset.quorum || '0');
    if (cosigned < quorum) fail(say.witnesses(cosigned, quorum));
    return say.ok(index, note.size, cosigned);
  }

  list.addEventListener('click', async (event) => {
    const button = event.target.closest('button.verify');
    if (!button) return;
    const index = button.dataset.index;
    const out = document.getElementById(`result-${index}`);
    out.className = 'result';
    out.textContent = say.checking;
    try {
      out.textContent = await verify(index);
      out.classList.add('ok');
    } catch (e) {
      out.textContent = e instanceof Failure ? e.message : `${say.fetch}: ${e}`;
      out.classList.add('bad');
    }
  });
})();
