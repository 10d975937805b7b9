/**
 * @module main
 * Entry of the dashboard bundle (CONTRACT §9), built by dashboard/vite.config.ts into
 * dist/dashboard and served by the server at `/`.
 */
import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { App } from './app.js';

const root = document.getElementById('app');
if (root) render(<App />, root);
