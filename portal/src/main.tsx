import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { SessionStore } from './api/session.js';
import { App } from './app/app.js';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('the page has no #root element');
createRoot(root).render(
  <StrictMode>
    <App session={new SessionStore(window.sessionStorage)} />
  </StrictMode>,
);
