// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const config = require('./.config/jest.config');

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...config,
  // d3-color ships only .mjs: transform it too (the scaffold's pattern skips .mjs)
  transform: Object.fromEntries(Object.entries(config.transform).map(([, v]) => ['^.+\\.m?(t|j)sx?$', v])),
};
