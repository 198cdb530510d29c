module.exports = require('../jest/preset')(__dirname, { testMatch: ['<rootDir>/test/**/*.test.ts'] });
