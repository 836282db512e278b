/** Fill a `<select>` with the server's models, the default selected; shows which model is untrained. */
import type { ModelList } from '../../../server/protocol.js';
import { api } from './api.js';

/** Load `/api/models` into `select`; returns the list. */
export async function loadModels(select: HTMLSelectElement): Promise<ModelList> {
  const list = await api<ModelList>('/api/models');
  select.replaceChildren(
    ...list.models.map((m) => {
      const o = document.createElement('option');
      o.value = m.name;
      o.textContent = `${m.name}${m.trained ? '' : ' (untrained fallback)'}`;
      o.title = m.description;
      o.selected = m.name === list.default;
      return o;
    }),
  );
  return list;
}
