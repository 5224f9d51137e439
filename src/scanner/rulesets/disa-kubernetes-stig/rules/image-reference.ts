// Image references as container runtimes report them (`imageID`): the repository name, normalised the way
// the Docker reference grammar does (`nginx` is `docker.io/library/nginx`), without tag or digest.

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$/;
const IDENTIFIER = /^[a-f0-9]{64}$/;
const MAX_NAME_LENGTH = 255;

export class ImageReferenceError extends Error {
  constructor(reference: string, reason: string) {
    super(`invalid image reference "${reference}": ${reason}`);
    this.name = 'ImageReferenceError';
  }
}

/** The normalised repository name of an image reference, e.g. `registry.k8s.io/kube-proxy`. */
export function imageRepository(reference: string): string {
  if (IDENTIFIER.test(reference)) throw new ImageReferenceError(reference, 'a bare 64-character image ID');
  let rest = reference;
  const at = rest.indexOf('@');
  if (at >= 0) {
    if (!DIGEST.test(rest.slice(at + 1))) throw new ImageReferenceError(reference, 'malformed digest');
    rest = rest.slice(0, at);
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  let domain: string;
  let path: string;
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = 'docker.io';
    path = rest;
  } else {
    domain = first;
    path = rest.slice(slash + 1);
  }
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    if (!TAG.test(path.slice(colon + 1))) throw new ImageReferenceError(reference, 'malformed tag');
    path = path.slice(0, colon);
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  if (path.toLowerCase() !== path) throw new ImageReferenceError(reference, 'the repository name must be lowercase');
  if (!DOMAIN.test(domain)) throw new ImageReferenceError(reference, `malformed registry "${domain}"`);
  if (!path.split('/').every((c) => PATH_COMPONENT.test(c)))
    throw new ImageReferenceError(reference, 'malformed repository name');
  const name = `${domain}/${path}`;
  if (name.length > MAX_NAME_LENGTH)
    throw new ImageReferenceError(reference, `the repository name is longer than ${MAX_NAME_LENGTH} characters`);
  return name;
}
