import { defineSuitesInVm } from './suites-in-vm.js';

defineSuitesInVm('3');
