// Conversations kept in the browser (IndexedDB through idb): one record per conversation with its
// messages, attachments included as data URLs.
import { openDB } from 'idb';

const dbPromise = openDB('onnx-chat', 1, {
  upgrade(db) {
    const s = db.createObjectStore('conversations', { keyPath: 'id' });
    s.createIndex('updated', 'updated');
  },
});

export async function listConversations() {
  const all = await (await dbPromise).getAll('conversations');
  return all.sort((a, b) => b.updated - a.updated);
}

export async function getConversation(id) {
  return (await dbPromise).get('conversations', id);
}

export async function saveConversation(c) {
  c.updated = Date.now();
  await (await dbPromise).put('conversations', c);
}

export async function deleteConversation(id) {
  await (await dbPromise).delete('conversations', id);
}

export function newConversation() {
  const now = Date.now();
  return { id: `c${now.toString(36)}${Math.random().toString(36).slice(2, 8)}`, title: '', created: now, updated: now, messages: [] };
}

// Whether a conversation's title or any text of its messages contains `q` (case-insensitive).
export function matches(c, q) {
  if (!q) return true;
  q = q.toLowerCase();
  if ((c.title || '').toLowerCase().includes(q)) return true;
  return c.messages.some((m) => m.parts.some((p) => p.type === 'text' && p.text.toLowerCase().includes(q)));
}
