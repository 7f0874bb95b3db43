import { Link } from 'react-router';

export function NotFoundPage() {
  return (
    <section className="narrow">
      <h1>No such page</h1>
      <p>
        The portal has no page at this address. <Link to="/">Go to the start page</Link>.
      </p>
    </section>
  );
}
