'use strict';
// Loads the built add-on; throws when it was not built (see scripts/build.cjs).
module.exports = require('./build/Release/rot_track_native.node');
