// Bundles the editors' page (index.tsx) with React and @grafana/ui included: make editor-screenshots.
const path = require('path');

module.exports = {
  mode: 'production',
  devtool: false,
  entry: path.join(__dirname, 'index.tsx'),
  output: { path: path.join(__dirname, 'dist'), filename: 'bundle.js' },
  resolve: { extensions: ['.tsx', '.ts', '.js', '.mjs', '.json'] },
  performance: { hints: false },
  module: {
    rules: [
      {
        test: /\.[tj]sx?$/,
        exclude: /node_modules/,
        use: { loader: 'swc-loader', options: { jsc: { parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic' } } } } },
      },
      { test: /\.m?js$/, resolve: { fullySpecified: false } },
      { test: /\.css$/, use: ['style-loader', 'css-loader'] },
      { test: /\.(svg|png|woff2?|ttf|eot)$/, type: 'asset/inline' },
    ],
  },
};
